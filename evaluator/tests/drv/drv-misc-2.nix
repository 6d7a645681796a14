let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let d = mk { name = "m"; }; in mk { name = "m2"; v = builtins.typeOf d; w = d.outputName; }
