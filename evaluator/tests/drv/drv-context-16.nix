let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx15"; v = builtins.concatStringsSep "-" [ "${mk { name = "cdep"; outputs = [ "out" "dev" ]; }}" (mk { name = "cdep"; outputs = [ "out" "dev" ]; }).dev ]; }
