toString builtins.add
