[ __curPos (import ./lib/curpos.nix) ]
