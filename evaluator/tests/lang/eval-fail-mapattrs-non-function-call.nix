builtins.attrValues (builtins.mapAttrs 1 { a = 1; })
