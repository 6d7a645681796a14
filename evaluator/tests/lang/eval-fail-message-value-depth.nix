let x = { a.b.c.d.e.f.g.h.i.j.k.l = 1; }; in builtins.deepSeq x (builtins.substring 0 1 x)
