let s = { a = 1; }; in builtins.seq s { inherit (s) a b; }
