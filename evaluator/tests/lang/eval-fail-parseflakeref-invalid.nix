builtins.parseFlakeRef "github:"
