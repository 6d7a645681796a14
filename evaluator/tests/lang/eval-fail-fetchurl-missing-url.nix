builtins.fetchurl { sha256 = ""; }
