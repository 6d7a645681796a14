[ (builtins.map 1 [ ]) (builtins.map (throw "f") [ ]) ]
