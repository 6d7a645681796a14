let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "ign6"; } // { __ignoreNulls = true; a = [ null ]; b = { outPath = "x"; }; })
