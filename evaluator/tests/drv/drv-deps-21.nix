let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let a = mk { name = "a"; outputs = [ "out" "doc" ]; }; b = mk { name = "b"; dep = a.doc; }; in mk { name = "c"; x = b.drvPath; y = a; }
