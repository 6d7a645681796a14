let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "tostr-drv"; v = builtins.toString (mk { name = "dep"; }); }
