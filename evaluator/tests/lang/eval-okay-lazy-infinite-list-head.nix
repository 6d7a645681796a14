let xs = [ 1 ] ++ (throw "tail"); in builtins.length [ xs ]
