[ (builtins.add 1 2) (builtins.sub 1 2) (builtins.mul 3 4) (builtins.div 7 2) (builtins.add 1.5 1) (builtins.div 1 2.0) (builtins.mul 2.5 2.5) (builtins.sub 0.5 1) ]
