builtins.substring 0 (builtins.stringLength builtins.storeDir) (builtins.toFile "a" "b") == builtins.storeDir
