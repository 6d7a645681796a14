let f = builtins.toFile "ctx" "data"; s = "file: ${f}"; in [ (builtins.hasContext s) (builtins.getContext s) ]
