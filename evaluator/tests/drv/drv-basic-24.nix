builtins.derivationStrict { name = "strict"; builder = "/bin/sh"; system = "x86_64-linux"; } // { type = "derivation"; name = "strict"; outputName = "out"; }
