let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa13"; __structuredAttrs = true; } // { outputs = [ "bin" ]; })
