builtins.findFile [ { path = "/"; } 1 ] (throw "the name")
