let x = { v = "shared"; }; in { p = x; q = x; r = { s = x; }; }
