let d = derivation { name = "hello"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo hello > $out" ]; }; in [ (builtins.typeOf d) (builtins.isAttrs d) d.type ]
