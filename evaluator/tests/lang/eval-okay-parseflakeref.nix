[ (builtins.parseFlakeRef "github:NixOS/nixpkgs") (builtins.parseFlakeRef "github:NixOS/nixpkgs/nixos-24.05") (builtins.parseFlakeRef "git+https://example.org/repo.git?ref=main") ]
