let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa22"; __structuredAttrs = true; } // { exportReferencesGraph = { closure = [ "/nix/store/00000000000000000000000000000000-x" ]; }; })
