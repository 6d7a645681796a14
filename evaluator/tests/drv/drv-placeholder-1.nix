let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ph0"; outputs = [ "out" "dev" ]; p = builtins.placeholder "out"; }
