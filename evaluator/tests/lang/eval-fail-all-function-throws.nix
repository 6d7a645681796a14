builtins.all (throw "no predicate") [ 1 2 ]
