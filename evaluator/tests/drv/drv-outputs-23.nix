let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
builtins.derivationStrict { name = "strs2"; builder = "/bin/sh"; system = "s"; outputs = "  bin\tout\n"; } // { type = "derivation"; name = "strict"; outputName = "out"; }
