let
  mk = attrs: derivation ({ name = "t"; builder = "/bin/sh"; system = "x86_64-linux"; } // attrs);
in
mk { name = "many"; a = "1"; b = 2; c = [ 3 ]; d = true; e = null; f = 1.25; "with space" = "k"; "ünï" = "key"; "" = "empty key"; }
