let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let a = mk { name = "a"; src = ./src/hello.txt; }; in mk { name = "c"; x = a.drvPath; }
