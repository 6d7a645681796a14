builtins.div 1 "2"
