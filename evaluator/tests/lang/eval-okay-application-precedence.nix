let f = x: x + 1; in [ (f 1 * 2) (f (1 * 2)) (-f 1) ]
