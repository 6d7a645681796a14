let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let d = derivation { name = "m"; builder = "/bin/sh"; system = "s"; }; in mk { name = "recursive-self"; v = d.out.out.out.drvPath; }
