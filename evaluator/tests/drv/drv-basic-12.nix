derivation { name = "with.dots-2.3"; builder = "/bin/sh"; system = "x86_64-linux"; }
