let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa6"; __structuredAttrs = true; } // { u = "ünïcödé 漢字 🎉"; })
