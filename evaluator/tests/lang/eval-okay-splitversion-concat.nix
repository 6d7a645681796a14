builtins.concatStringsSep "." (builtins.splitVersion "1.2-3pre4")
