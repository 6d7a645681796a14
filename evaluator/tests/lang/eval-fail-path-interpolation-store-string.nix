let s = "${builtins.toFile "a" "b"}"; in ./x/${s}
