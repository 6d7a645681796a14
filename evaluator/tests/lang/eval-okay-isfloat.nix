map builtins.isFloat [ 1.0 1 (1 + 0.0) (builtins.div 4 2.0) (builtins.floor 1.5) ]
