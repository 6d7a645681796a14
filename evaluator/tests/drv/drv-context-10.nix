let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx9"; v = builtins.appendContext "" { "${builtins.unsafeDiscardStringContext (builtins.toFile "x" "y")}" = { path = true; }; }; }
