# A strict left fold over a million integers.
builtins.foldl' (acc: x: acc + x * 2) 0 (builtins.genList (x: x) 4000000)
