builtins.foldl' (acc: acc) 0 [ 1 ]
