builtins.toJSON { ok = 1; "a.b" = throw "q"; }
