let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
builtins.derivationStrict { name = "strs"; builder = "/bin/sh"; system = "s"; outputs = "out dev"; } // { type = "derivation"; name = "strict"; outputName = "out"; }
