builtins.attrNames (builtins.derivationStrict { name = "s"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "bin" "lib" ]; })
