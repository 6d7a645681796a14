[ (builtins.sort 1 [ ]) (builtins.sort (throw "f") [ ]) ]
