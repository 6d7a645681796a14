derivation { name = "foo_bar"; builder = "/bin/sh"; system = "x86_64-linux"; }
