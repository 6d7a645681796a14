let x = [ [ 1 2 3 4 5 6 7 8 ] [ 1 2 3 4 ] { type = 1; b = 2; a = 3; } ]; in builtins.deepSeq x (builtins.substring 0 1 x)
