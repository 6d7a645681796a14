builtins.path { path = ./lib/data.txt; }
