let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let d = mk { name = "m"; outputs = [ "out" "dev" ]; }; in mk { name = "attrnames-dev"; v = builtins.attrNames d.dev; w = d.dev.outputName; }
