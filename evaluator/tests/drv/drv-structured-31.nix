let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "sa-builder-dep"; __structuredAttrs = true; builder = "${mk { name = "bash"; }}/bin/bash"; }
