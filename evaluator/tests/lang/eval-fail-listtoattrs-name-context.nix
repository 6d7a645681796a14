builtins.listToAttrs [ { name = "${builtins.toFile "b" "x"}"; value = 1; } ]
