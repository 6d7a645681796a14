builtins.break "passes through"
