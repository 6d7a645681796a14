let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "bp-args"; args = [ (builtins.path { path = ./src/build.sh; name = "builder.sh"; }) ]; }
