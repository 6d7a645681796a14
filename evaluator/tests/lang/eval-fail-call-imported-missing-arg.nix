import ./lib/fun.nix { }
