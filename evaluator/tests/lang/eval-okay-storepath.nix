let p = builtins.toFile "sp" "store"; in [ (builtins.storePath p) (builtins.hasContext (builtins.storePath p)) ]
