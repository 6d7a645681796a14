builtins.filterSource (path: type: type == "directory" || baseNameOf path == "c.txt") ./dir
