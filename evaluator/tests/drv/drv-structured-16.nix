let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa15"; __structuredAttrs = true; } // { ps = [ ./src/hello.txt ./src/tree ]; })
