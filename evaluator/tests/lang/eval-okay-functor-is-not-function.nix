let f = { __functor = self: x: x; }; in [ (builtins.isFunction f) (builtins.isAttrs f) (f 7) ]
