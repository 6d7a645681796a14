let x = { z = 1; type = 2; _type = 3; a = [ 1 2 3 4 5 6 7 8 9 ]; b = { c = 1; d = 2; e = 3; f = 4; g = 5; }; c = 2; }; in builtins.deepSeq x (builtins.substring 0 1 x)
