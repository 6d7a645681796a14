let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "bp-str"; src = builtins.path { path = toString ./src/tree/sub; name = "from-string"; }; }
