let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "fu3"; src = builtins.fetchurl { url = "file://${toString ./src/build.sh}"; sha256 = "fe78967879d88c5d959356e4c9d906f1b1bb3c2d75716bea635e20519d1e6f3f"; }; }
