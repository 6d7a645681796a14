let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "fo45"; outputHash = "sha1:aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"; outputHashMode = "recursive"; }
