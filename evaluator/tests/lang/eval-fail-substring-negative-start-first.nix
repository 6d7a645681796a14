builtins.substring (-1) (throw "the length") (throw "the string")
