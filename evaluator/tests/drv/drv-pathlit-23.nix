let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "pl-list"; srcs = [ ./src/hello.txt ./src/tree ]; }
