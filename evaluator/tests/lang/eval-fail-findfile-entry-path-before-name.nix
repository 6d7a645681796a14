builtins.findFile [ { prefix = "a"; path = throw "the path"; } ] (throw "the name")
