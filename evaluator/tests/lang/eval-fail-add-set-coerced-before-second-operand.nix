(builtins.tryEval (throw "z")) + ((x: x) < [ ])
