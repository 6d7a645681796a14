let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "ign9"; } // { __ignoreNulls = true; a = null; b = null; c = false; d = ""; })
