let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "tf11"; f = builtins.toFile "discard" (builtins.unsafeDiscardStringContext "${derivation { name = "x"; builder = "b"; system = "s"; }}"); }
