let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
builtins.map (n: mk { name = "map${toString n}"; }) [ 1 2 3 ]
