let x = { a = x; b = throw "in cycle"; }; in builtins.deepSeq x 1
