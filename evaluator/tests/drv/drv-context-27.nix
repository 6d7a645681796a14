let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let d = mk { name = "cdep"; outputs = [ "out" "dev" ]; }; in mk { name = "ctx-drvdeep-multi"; a = d.drvPath; b = (mk { name = "o"; x = d.dev; }).drvPath; }
