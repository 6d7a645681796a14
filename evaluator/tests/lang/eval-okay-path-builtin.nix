builtins.path { path = ./dir; name = "dir-copy"; }
