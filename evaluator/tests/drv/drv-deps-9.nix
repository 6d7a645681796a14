let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let a = mk { name = "a"; outputs = [ "out" "dev" "lib" ]; }; in mk { name = "b"; dev = "unused"; x = a.dev; y = a.lib; }
