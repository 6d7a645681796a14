let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let d = mk { name = "multi-dep"; outputs = [ "out" "dev" "bin" ]; }; in mk { name = "consumer"; a = d.bin; b = d.dev; c = d.out; }
