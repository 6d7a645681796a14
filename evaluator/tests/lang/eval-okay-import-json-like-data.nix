import ./lib/list.nix
