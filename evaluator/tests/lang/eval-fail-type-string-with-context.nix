builtins.attrNames (builtins.toFile "a" "b")
