# A forced element that divides by zero.
builtins.genList (i: 10 / (i - 1)) 3
