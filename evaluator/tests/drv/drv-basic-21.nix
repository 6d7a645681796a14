derivation { name = "bld"; builder = "/nix/store/00000000000000000000000000000000-bash/bin/bash"; system = "x86_64-linux"; }
