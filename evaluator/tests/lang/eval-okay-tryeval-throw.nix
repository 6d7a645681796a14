builtins.tryEval (throw "boom")
