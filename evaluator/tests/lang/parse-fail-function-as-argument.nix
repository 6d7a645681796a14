builtins.map x: x + 1
