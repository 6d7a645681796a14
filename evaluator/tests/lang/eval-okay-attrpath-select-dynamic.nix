let s = { ab = 1; }; k = "a"; in s.${k + "b"}
