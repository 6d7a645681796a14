builtins.attrValues { b = "second"; a = "first"; c = "third"; }
