let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let a = builtins.toFile "a" "A"; b = builtins.toFile "b" "${a}"; c = builtins.toFile "c" "${a}${b}"; in mk { name = "tf-graph"; x = c; }
