builtins.derivationStrict { name = "x"; system = "x"; builder = "x"; "a b" = throw "q"; }
