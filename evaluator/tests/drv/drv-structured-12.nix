let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa11"; __structuredAttrs = true; } // { "key with space" = 1; "ünï" = 2; "" = 3; "Z" = 4; "a" = 5; })
