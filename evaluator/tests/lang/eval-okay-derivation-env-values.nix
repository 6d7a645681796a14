let d = derivation { name = "env"; system = "x86_64-linux"; builder = "/bin/sh"; flag = true; off = false; n = 42; f = 1.5; none = null; l = [ "a" 1 true ]; p = ./lib/data.txt; }; in d.drvPath
