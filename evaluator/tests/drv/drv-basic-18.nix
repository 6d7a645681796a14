derivation { name = "bld"; builder = "/bin/bash"; system = "x86_64-linux"; }
