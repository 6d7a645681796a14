builtins.parseFlakeRef "github:NixOS/nixpkgs"
