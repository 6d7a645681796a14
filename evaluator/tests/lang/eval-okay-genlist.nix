[ (builtins.genList (i: i * i) 5) (builtins.genList (i: i) 0) (builtins.genList (i: [ i ]) 2) ]
