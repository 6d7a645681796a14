let l = [ 1 2 3 ] ++ [ 4 ]; x = l; in { a = l; b = x; c = [ l l ]; }
