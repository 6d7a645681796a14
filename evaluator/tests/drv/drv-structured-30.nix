let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let d = mk { name = "inner"; __structuredAttrs = true; x = 1; }; in mk { name = "sa-outer"; __structuredAttrs = true; inner = d; }
