builtins.path { path = ./dir; colour = "blue"; }
