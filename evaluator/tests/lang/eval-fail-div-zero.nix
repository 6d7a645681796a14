builtins.div 1 0
