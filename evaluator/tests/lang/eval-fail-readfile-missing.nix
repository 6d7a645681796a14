builtins.readFile ./lib/no-such-file
