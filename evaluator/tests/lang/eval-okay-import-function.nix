[ (import ./lib/fun.nix { a = 1; }) (import ./lib/fun.nix { a = 1; b = 5; }) ]
