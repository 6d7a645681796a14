let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let a = builtins.toFile "a" "A"; in mk { name = "tf-drvpath"; x = (mk { name = "uses-a"; a = a; }).drvPath; }
