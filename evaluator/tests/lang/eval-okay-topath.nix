[ (builtins.toPath "/a/b") (builtins.toPath "/a/../b/./c") (builtins.toPath ./lib) ]
