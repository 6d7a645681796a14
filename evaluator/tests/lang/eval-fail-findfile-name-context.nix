builtins.findFile [ ] "${builtins.toFile "b" "x"}"
