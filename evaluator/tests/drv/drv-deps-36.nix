let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let base = mk { name = "base"; outputs = [ "out" "dev" ]; }; mid1 = mk { name = "mid1"; d = base.dev; }; mid2 = mk { name = "mid2"; d = base.out; }; in mk { name = "top"; a = mid1; b = mid2; c = base.drvPath; }
