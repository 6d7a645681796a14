builtins.genericClosure { startSet = [ { key = 3; } { key = 3; tag = "dup"; } ]; operator = item: [ { key = 1; } { key = 3; } { key = item.key; } ]; }
