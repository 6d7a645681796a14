builtins.tryEval { a = throw "escapes when printed"; }
