let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "pli8"; src = "${./src/tree/empty-dir}/suffix"; }
