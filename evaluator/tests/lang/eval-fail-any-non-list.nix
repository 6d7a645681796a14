builtins.any (x: true) "list"
