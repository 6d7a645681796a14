[ (builtins.typeOf (builtins.toPath "/x")) (builtins.toPath "/x//y/") ]
