builtins.attrNames { b = 1; a = 2; C = 3; "1" = 4; _ = 5; }
