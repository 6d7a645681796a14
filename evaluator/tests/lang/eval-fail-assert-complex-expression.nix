let a = { x = 1; }; in assert a.x == 2 && true; a
