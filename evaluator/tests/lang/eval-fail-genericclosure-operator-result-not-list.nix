builtins.genericClosure { startSet = [ { key = 1; } ]; operator = e: { key = 2; }; }
