let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk ({ name = "sa5"; __structuredAttrs = true; } // { s = "quote\" back\\ nl\n tab\t cr\r ctl"; })
