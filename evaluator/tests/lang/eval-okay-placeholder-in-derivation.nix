(derivation { name = "ph"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "out" "lib" ]; libdir = builtins.placeholder "lib"; }).drvPath
