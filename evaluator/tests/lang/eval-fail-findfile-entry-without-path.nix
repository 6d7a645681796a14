builtins.findFile [ { prefix = "x"; } ] "x"
