let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "pli6"; src = "${./src/data.json}/suffix"; }
