derivation { name = "x.y.z"; builder = "/bin/sh"; system = "x86_64-linux"; }
