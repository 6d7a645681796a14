let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "tf15"; f = builtins.toFile "sp2" (builtins.storePath (builtins.toFile "target" "t")); }
