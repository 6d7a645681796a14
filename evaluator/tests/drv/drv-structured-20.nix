let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa19"; __structuredAttrs = true; } // { __ignoreNulls = true; x = null; y = 1; })
