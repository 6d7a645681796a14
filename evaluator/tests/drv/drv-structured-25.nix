let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let d = mk { name = "dep"; outputs = [ "out" "dev" ]; }; in mk { name = "sa-drv-dev"; __structuredAttrs = true; dep = d.dev; }
