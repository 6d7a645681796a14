{ a = rec { b = 1; }; a.b = 2; }
