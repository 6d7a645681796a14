builtins.foldl' { __functor = self: acc: x: acc + x; } 0 [ 1 2 3 ]
