let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
let leaves = builtins.genList (i: mk { name = "leaf${toString i}"; i = i; }) 4; in mk { name = "fan4"; deps = leaves; }
