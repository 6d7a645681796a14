builtins.readFile ./dir
