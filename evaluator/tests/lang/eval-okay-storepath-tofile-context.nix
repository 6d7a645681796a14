builtins.getContext (builtins.storePath (builtins.toFile "ctx2" "z"))
