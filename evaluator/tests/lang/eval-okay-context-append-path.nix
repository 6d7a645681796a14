let p = builtins.unsafeDiscardStringContext (builtins.toFile "a" "b"); in builtins.getContext (builtins.appendContext "" { ${p} = { path = true; }; })
