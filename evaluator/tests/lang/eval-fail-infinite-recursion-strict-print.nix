rec { a = { b = a.b; }; }
