let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let dep = mk { name = "argdep2"; outputs = [ "out" "bin" ]; }; in mk { name = "args-dep-out"; args = [ dep.bin dep ]; }
