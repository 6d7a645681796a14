builtins.zipAttrsWith (n: vs: builtins.concatStringsSep "," vs) [ { x = "1"; } { x = "2"; y = "3"; } ]
