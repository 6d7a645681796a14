let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let a = mk { name = "a"; }; b = mk { name = "b"; dep = a; }; c = mk { name = "c"; dep = a; }; in mk { name = "d"; deps = [ b c ]; }
