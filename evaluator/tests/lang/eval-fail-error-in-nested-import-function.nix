(import ./lib/fun.nix) { a = "s"; }
