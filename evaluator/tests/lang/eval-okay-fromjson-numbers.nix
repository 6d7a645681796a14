builtins.fromJSON "[0, -1, 1.5, 1e3, 2E-2, -0.0, 1.0]"
