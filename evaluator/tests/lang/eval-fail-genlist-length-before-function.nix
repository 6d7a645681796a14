builtins.genList (throw "the function") (throw "the length")
