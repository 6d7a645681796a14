# removeAttrs forces its set before its list of names.
let fail = what: throw "${what} fails"; in builtins.removeAttrs (fail "the set") (fail "the names")
