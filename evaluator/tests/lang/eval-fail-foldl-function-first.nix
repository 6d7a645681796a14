builtins.foldl' (throw "the function") (throw "the start") (throw "the list")
