# Duplicate attributes are found while parsing, undefined variables after.
let a = x; in { b = 1; b = 2; }
