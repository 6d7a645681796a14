builtins.mul 2.0 [ ]
