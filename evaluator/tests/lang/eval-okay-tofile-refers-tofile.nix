builtins.toFile "outer" "see ${builtins.toFile "inner" "i"}"
