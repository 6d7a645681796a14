builtins.nixVersion + 1
