builtins.getFlake "github:NixOS/nixpkgs"
