let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx24"; v = (builtins.unsafeDiscardOutputDependency (mk { name = "cdep"; outputs = [ "out" "dev" ]; }).drvPath) + (mk { name = "cdep"; outputs = [ "out" "dev" ]; }).dev; }
