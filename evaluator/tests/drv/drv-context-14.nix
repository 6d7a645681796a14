let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx13"; v = builtins.substring 0 5 "${mk { name = "cdep"; outputs = [ "out" "dev" ]; }}"; }
