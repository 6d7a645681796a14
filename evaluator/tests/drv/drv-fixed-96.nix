let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "fo96"; outputHash = "md5:4jqlbi14cxf6wpcajbphm40hax"; outputHashMode = "nar"; }
