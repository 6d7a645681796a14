builtins.toJSON [ 1 (throw "inside json") ]
