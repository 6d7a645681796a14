[ (map (x: x + 1) [ 1 2 ]) (map (x: [ x ]) [ ]) (builtins.map toString [ 1 true null ]) ]
