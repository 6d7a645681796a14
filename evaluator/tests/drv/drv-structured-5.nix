let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa4"; __structuredAttrs = true; } // { n = null; t = true; f = false; })
