[ (builtins.add 1 1.5) (builtins.sub 3 1.0) (builtins.mul 2 3) (builtins.div 7 2) (builtins.div 7 2.0) (builtins.div 1.0 4) ]
