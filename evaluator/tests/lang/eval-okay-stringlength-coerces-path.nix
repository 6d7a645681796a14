builtins.stringLength "${builtins.toFile "x" ""}"
