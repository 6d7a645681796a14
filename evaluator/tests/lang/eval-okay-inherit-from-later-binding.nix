let inherit (x) a; x = { a = "late"; }; in a
