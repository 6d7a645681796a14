let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa1"; __structuredAttrs = true; } // { a = 1; b = "two"; c = [ 3 4 ]; })
