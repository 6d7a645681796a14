builtins.foldl' ({ a }: x: a + x) 0 [ 1 ]
