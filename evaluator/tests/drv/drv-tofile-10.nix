let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "tf9"; f = builtins.toFile "deep" "${builtins.toFile "mid" "${builtins.toFile "leaf" "leaf"}"}"; }
