[ builtins.add builtins.head (builtins.add 1) (builtins.foldl' (a: b: a)) builtins.derivation ]
