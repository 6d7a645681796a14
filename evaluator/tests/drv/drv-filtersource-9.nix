let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "fs8"; src = builtins.filterSource (path: type: false) ./src/tree; }
