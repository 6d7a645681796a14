let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "json1"; __json = "{\"b\": 1, \"a\": [1, 2.5, \"x\"]}"; }
