let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa10"; __structuredAttrs = true; } // { op = { outPath = "/x/y"; extra = 1; }; })
