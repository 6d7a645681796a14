builtins.readFileType (toString ./dir/b.nix)
