(builtins.tryEval { a = throw "x"; }).success
