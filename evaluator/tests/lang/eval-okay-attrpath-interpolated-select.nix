let n = "2"; s = { v1 = "one"; v2 = "two"; }; in s."v${n}"
