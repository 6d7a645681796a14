import ./lib/cycle-a.nix
