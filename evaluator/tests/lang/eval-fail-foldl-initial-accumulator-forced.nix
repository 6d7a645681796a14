builtins.foldl' (acc: x: acc) (throw "initial") [ ]
