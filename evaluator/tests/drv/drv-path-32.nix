let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "bp-symlink-file"; src = builtins.path { path = ./src/tree/link-to-a; }; }
