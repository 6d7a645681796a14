let a-b = 1; a' = 2; _x = 3; a_b-c'd = 4; in [ a-b a' _x a_b-c'd ]
