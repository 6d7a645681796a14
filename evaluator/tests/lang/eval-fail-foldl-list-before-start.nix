builtins.foldl' (x: y: x) (throw "the start") (throw "the list")
