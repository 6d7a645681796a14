let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "pl-same-twice"; a = ./src/hello.txt; b = ./src/hello.txt; c = "${./src/hello.txt}"; }
