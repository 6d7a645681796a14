let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "tf7"; f = builtins.toFile "refpath" "${./src/hello.txt}"; }
