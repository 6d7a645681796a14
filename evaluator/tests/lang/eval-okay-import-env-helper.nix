import ./lib/env.nix
