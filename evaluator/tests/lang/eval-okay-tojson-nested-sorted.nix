builtins.toJSON { z = { y = [ { b = 1; a = 2; } ]; }; a = { }; m = [ ]; }
