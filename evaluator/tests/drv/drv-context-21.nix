let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx20"; v = builtins.baseNameOf "${mk { name = "cdep"; outputs = [ "out" "dev" ]; }}"; }
