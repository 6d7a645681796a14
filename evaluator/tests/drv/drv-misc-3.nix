let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let d = mk { name = "m"; }; in mk { name = "attrnames"; v = builtins.attrNames d; }
