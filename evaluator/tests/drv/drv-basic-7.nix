derivation { name = "UPPER"; builder = "/bin/sh"; system = "x86_64-linux"; }
