let mk = n: x: x + n; add5 = mk 5; in map add5 [ 1 2 ]
