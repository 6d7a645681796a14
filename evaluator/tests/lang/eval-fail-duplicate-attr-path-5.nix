let x.a = 1; x.a = 2; in x
