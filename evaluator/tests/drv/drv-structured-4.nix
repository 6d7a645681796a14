let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa3"; __structuredAttrs = true; } // { f = 1.5; g = 0.1; h = 1.0e20; i = 1.0e-7; j = -0.0; k = 100.0; l = 123456789.125; })
