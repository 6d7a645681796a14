builtins.parseDrvName { name = "x"; }
