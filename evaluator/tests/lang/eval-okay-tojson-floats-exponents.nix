builtins.toJSON [ 1.0e-7 1.0e15 1.0e16 1.0e21 ]
