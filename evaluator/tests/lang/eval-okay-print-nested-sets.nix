{ a = { b = { c = [ 1 { d = null; } ]; }; }; e = true; f = false; }
