builtins.length (map (x: throw "each") [ 1 2 3 ])
