derivation { name = "bld"; builder = "builtin:fetchurl"; system = "x86_64-linux"; }
