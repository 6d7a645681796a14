builtins.tryEval (builtins.elemAt (throw "the list") (throw "the index"))
