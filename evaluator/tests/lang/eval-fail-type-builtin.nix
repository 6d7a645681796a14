[ ] ++ builtins.map
