let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "tf6"; f = builtins.toFile "ref2" "${builtins.toFile "i1" "1"} ${builtins.toFile "i2" "2"}"; }
