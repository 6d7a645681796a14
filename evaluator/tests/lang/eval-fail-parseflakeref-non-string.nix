builtins.parseFlakeRef { }
