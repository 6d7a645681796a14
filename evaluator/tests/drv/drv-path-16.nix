let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "bp"; src = builtins.path { path = ./src/tree/sub; filter = path: type: let l = builtins.stringLength path; in !(l >= 4 && builtins.substring (l - 4) 4 path == ".tmp"); name = "named-source"; }; }
