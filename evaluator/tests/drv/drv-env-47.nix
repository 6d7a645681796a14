let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "order"; zzz = "last"; AAA = "first"; _u = "under"; "0num" = "digit"; }
