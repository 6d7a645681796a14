builtins.length (builtins.foldl' (acc: x: acc ++ [ (throw "elem") ]) [ ] [ 1 2 ])
