import ./cycle-a.nix
