derivation { name = "sys"; builder = "/bin/sh"; system = "builtin"; }
