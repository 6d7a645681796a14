let f = x: x * 2; in [ (f 2) ((x: y: x - y) 10 3) ]
