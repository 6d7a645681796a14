derivation { name = "sys"; builder = "/bin/sh"; system = "aarch64-darwin"; }
