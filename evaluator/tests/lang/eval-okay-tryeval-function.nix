(builtins.tryEval (x: x)).success
