let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let d = mk { name = "dep"; }; in mk { name = "sa-drv"; __structuredAttrs = true; dep = d; deps = [ d d.drvPath ]; }
