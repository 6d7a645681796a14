{ a.b.c = 1; a.b = { d = 2; }; a.x.y.z = 3; }
