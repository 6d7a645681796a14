let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let d = mk { name = "m"; meta = { x = 1; }; }; in mk { name = "drvattrs"; v = builtins.attrNames d.drvAttrs; }
