let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "fu2"; src = builtins.fetchurl { url = "file://${toString ./src/hello.txt}"; name = "renamed"; }; }
