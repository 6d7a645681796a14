let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let dep = mk { name = "argdep"; }; in mk { name = "args-dep"; args = [ "-c" "${dep}/bin/x" ]; }
