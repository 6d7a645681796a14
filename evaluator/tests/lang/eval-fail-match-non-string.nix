builtins.match "a" 1
