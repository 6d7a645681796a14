let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let d = mk { name = "outsel7"; outputs = [ "first" "second" "third" ]; }; in builtins.map (o: d.${o}) d.outputs
