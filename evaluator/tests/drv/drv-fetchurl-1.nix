let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "fu1"; src = builtins.fetchurl "file://${toString ./src/hello.txt}"; }
