builtins.getEnv "${builtins.toFile "b" "x"}"
