builtins.derivation { name = "via-builtins"; builder = "/bin/sh"; system = "x86_64-linux"; }
