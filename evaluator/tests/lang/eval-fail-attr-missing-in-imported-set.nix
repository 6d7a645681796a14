(import ./lib/simple.nix).z
