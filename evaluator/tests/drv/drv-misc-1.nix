let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let d = mk { name = "m"; }; in mk { name = "eq"; v = if d == d then "same" else "diff"; }
