[ (builtins.seq (builtins.seq 1 2) 3) (builtins.seq null null) ]
