let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx1"; v = builtins.unsafeDiscardOutputDependency (mk { name = "cdep"; outputs = [ "out" "dev" ]; }).drvPath; }
