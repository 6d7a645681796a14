./x + "${builtins.toFile "a" "b"}"
