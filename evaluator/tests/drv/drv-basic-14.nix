derivation { name = "sys"; builder = "/bin/sh"; system = "i686-linux"; }
