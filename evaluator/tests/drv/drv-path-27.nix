let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "bp-flat-named"; src = builtins.path { path = ./src/hello.txt; recursive = false; name = "renamed.txt"; }; }
