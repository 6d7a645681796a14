builtins.true 1
