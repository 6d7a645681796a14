let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "tf8"; f = builtins.toFile "refdir" "see ${./src/tree}/a.txt"; }
