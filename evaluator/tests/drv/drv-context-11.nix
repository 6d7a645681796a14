let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx10"; v = builtins.appendContext "x" { "${builtins.unsafeDiscardStringContext (mk { name = "cdep"; outputs = [ "out" "dev" ]; }).drvPath}" = { path = false; allOutputs = false; outputs = [ ]; }; }; }
