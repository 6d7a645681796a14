let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "fs6"; src = builtins.filterSource (path: type: let l = builtins.stringLength path; in !(l >= 4 && builtins.substring (l - 4) 4 path == ".tmp")) ./src/tree; }
