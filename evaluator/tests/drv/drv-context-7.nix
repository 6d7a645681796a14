let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx6"; v = builtins.appendContext "plain" { "${builtins.unsafeDiscardStringContext (mk { name = "cdep"; outputs = [ "out" "dev" ]; }).drvPath}" = { allOutputs = true; }; }; }
