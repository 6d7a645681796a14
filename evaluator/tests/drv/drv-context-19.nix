let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "ctx18"; v = builtins.storePath "${builtins.unsafeDiscardStringContext (builtins.toFile "sp-sub" "x")}/bin/tool"; }
