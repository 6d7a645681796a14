builtins.div "6" 0
