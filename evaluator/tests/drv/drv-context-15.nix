let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx14"; v = builtins.replaceStrings [ "nix" ] [ "xin" ] "${mk { name = "cdep"; outputs = [ "out" "dev" ]; }}"; }
