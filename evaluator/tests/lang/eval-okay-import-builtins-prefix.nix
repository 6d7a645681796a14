(builtins.import ./lib/list.nix) ++ [ 4 ]
