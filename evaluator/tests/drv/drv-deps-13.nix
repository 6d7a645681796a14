let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let a = mk { name = "a"; outputs = [ "out" "dev" ]; }; in mk { name = "b"; x = "${a.dev} ${a.out}"; }
