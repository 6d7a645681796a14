let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "tf12"; f = builtins.toFile "name.with.dots-1" "x"; }
