let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "ign7"; } // { __ignoreNulls = true; __structuredAttrs = true; a = null; b = [ null ]; })
