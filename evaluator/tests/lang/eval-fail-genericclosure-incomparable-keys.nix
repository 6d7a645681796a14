builtins.genericClosure { startSet = [ { key = 1; } { key = "one"; } ]; operator = i: [ ]; }
