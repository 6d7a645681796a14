map (x: (builtins.tryEval x).success) [ 1 (throw "a") (assert false; 2) "s" ]
