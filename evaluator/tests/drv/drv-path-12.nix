let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "bp"; src = builtins.path { path = ./src/tree/sub; filter = path: type: baseNameOf path != "sub"; }; }
