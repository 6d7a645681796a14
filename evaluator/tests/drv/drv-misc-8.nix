let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
builtins.listToAttrs (builtins.genList (i: { name = "d${toString i}"; value = mk { name = "gen${toString i}"; }; }) 3)
