let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "tf14"; f = builtins.toFile "bp" "${builtins.path { path = ./src/tree; name = "tree-src"; }}"; }
