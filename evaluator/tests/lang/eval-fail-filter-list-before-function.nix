builtins.filter 1 (throw "the list")
