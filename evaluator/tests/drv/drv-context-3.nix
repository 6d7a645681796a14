let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx2"; v = builtins.unsafeDiscardOutputDependency "${(mk { name = "cdep"; outputs = [ "out" "dev" ]; }).drvPath} and ${mk { name = "cdep"; outputs = [ "out" "dev" ]; }}"; }
