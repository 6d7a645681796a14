builtins.isPath (throw "isPath forces")
