let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa7"; __structuredAttrs = true; } // { big = 9223372036854775807; neg = -9223372036854775807; })
