builtins.attrNames (builtins.intersectAttrs { a = throw "l"; b = 1; } { a = throw "r"; c = 2; })
