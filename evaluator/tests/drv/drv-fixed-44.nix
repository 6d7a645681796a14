let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "fo44"; outputHash = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"; outputHashAlgo = "sha1"; outputHashMode = "recursive"; }
