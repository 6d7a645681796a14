builtins.elemAt (builtins.genList (i: assert i < 1; i) 2) 1
