builtins.parseFlakeRef "path:/some/where"
