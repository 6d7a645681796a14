[ (builtins.filter 1 [ ]) (builtins.filter (throw "f") [ ]) ]
