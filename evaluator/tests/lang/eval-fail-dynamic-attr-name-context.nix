{ ${"${builtins.toFile "b" "x"}"} = 1; }
