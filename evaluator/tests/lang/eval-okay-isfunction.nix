map builtins.isFunction [ (x: x) builtins.add (builtins.add 1) { __functor = s: x: x; } map ]
