builtins.isFloat (throw "isFloat forces")
