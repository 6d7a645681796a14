let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa9"; __structuredAttrs = true; } // { ts = { __toString = self: "stringified"; }; })
