let f = builtins.toFile "j" "k"; in builtins.hasContext (builtins.toJSON { a = "${f}"; })
