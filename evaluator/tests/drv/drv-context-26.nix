let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx-getcontext-keys"; v = builtins.attrNames (builtins.getContext "${mk { name = "cdep"; outputs = [ "out" "dev" ]; }}"); }
