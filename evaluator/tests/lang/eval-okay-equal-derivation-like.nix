[ ({ type = "derivation"; outPath = "x"; a = 1; } == { type = "derivation"; outPath = "x"; a = 2; }) ({ outPath = "x"; a = 1; } == { outPath = "x"; a = 2; }) ]
