builtins.toJSON { "ключ" = "значение"; path = "a/b"; }
