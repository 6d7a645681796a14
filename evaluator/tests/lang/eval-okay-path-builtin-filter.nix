builtins.path { path = ./dir; name = "filtered"; filter = path: type: type != "symlink" && baseNameOf path != ".hidden"; }
