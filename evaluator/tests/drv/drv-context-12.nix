let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx11"; v = let s = "${mk { name = "cdep"; outputs = [ "out" "dev" ]; }}"; in builtins.appendContext (builtins.unsafeDiscardStringContext s) (builtins.getContext s); }
