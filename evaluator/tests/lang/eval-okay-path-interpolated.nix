let x = "simple"; in [ ./lib/${x}.nix ./${"lib"}/fun.nix (import ./lib/${x}.nix).x ]
