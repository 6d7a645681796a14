let s = { a.b.c = 1; }; in [ (s ? a) (s ? a.b.c) (s ? a.x.c) (s ? a.b.c.d) ]
