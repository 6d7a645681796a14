derivation { name = "q?r=s"; builder = "/bin/sh"; system = "x86_64-linux"; }
