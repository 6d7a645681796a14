derivation { name = "sys"; builder = "/bin/sh"; system = "riscv64-linux"; }
