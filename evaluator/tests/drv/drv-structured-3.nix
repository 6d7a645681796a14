let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa2"; __structuredAttrs = true; } // { nested = { deep = { deeper = [ { x = 1; } ]; }; }; })
