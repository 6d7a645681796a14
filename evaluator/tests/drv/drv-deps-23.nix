let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let t = builtins.toFile "t.txt" "text"; a = mk { name = "a"; src = t; }; in mk { name = "c"; x = a.drvPath; }
