derivation { name = "bld"; builder = "sh"; system = "x86_64-linux"; }
