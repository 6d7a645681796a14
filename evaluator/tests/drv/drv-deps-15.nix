let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let a = mk { name = "same"; }; b = mk { name = "same"; x = 1; }; in mk { name = "c"; deps = [ a b ]; }
