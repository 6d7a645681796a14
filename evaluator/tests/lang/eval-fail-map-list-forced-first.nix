# map forces its list first; the list's failure is reported as it was raised.
let fail = what: throw "${what} fails"; in map (fail "the function") (fail "the list")
