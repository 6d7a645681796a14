builtins.genericClosure { startSet = [ { key = 1; } ]; operator = e: if e.key < 3 then [ { key = e.key + 1; } ] else [ "four" ]; }
