let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "bp"; src = builtins.path { path = ./src/tree; filter = path: type: let b = baseNameOf path; l = builtins.stringLength b; in type == "directory" || (l >= 4 && builtins.substring (l - 4) 4 b == ".txt"); }; }
