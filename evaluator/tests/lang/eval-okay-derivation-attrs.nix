let d = derivation { name = "hello"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo hello > $out" ]; }; in [ d.name d.type d.drvPath d.outPath d.outputName d.system ]
