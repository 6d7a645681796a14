# elemAt forces its index before its list, even when both are computed at the call.
let fail = what: throw "${what} fails"; in builtins.elemAt (fail "the list") (fail "the index")
