let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "ign5"; } // { __ignoreNulls = true; outputHash = null; outputHashAlgo = null; })
