let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "tf5"; f = builtins.toFile "ref" "${builtins.toFile "inner" "x"}"; }
