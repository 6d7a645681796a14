builtins.isList (throw "isList forces")
