let add3 = a: b: c: a + b + c; p = add3 1; in [ (p 2 3) (p 10 20) ]
