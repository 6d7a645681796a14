import ./lib/undefined-var.nix
