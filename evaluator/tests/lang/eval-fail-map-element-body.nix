builtins.elemAt (map (x: x + 1) [ 1 null ]) 1
