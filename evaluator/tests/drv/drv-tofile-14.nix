let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "tf13"; f = builtins.toFile "sp" "spaces   and\ttabs"; }
