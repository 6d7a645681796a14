derivation { name = "-dash"; builder = "/bin/sh"; system = "x86_64-linux"; }
