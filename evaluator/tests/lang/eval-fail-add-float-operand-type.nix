builtins.add "1" 1.5
