derivation { name = "sys"; builder = "/bin/sh"; system = "x86_64-freebsd"; }
