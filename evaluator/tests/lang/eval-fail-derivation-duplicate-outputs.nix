(derivation { name = "x"; system = "x"; builder = "/bin/sh"; outputs = [ "out" "out" ]; }).drvPath
