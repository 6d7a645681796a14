derivation { name = "bld"; builder = "./relative"; system = "x86_64-linux"; }
