builtins.flakeRefToString { owner = "NixOS"; }
