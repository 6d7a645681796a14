derivation { name = "_under"; builder = "/bin/sh"; system = "x86_64-linux"; }
