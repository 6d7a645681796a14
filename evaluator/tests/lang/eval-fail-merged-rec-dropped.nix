{ n.m.o = 1; n = { m = rec { p = 2; q = p; }; }; }
