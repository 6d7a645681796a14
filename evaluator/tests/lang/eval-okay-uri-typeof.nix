[ (builtins.typeOf http://example.org) (builtins.typeOf x:x) (builtins.typeOf (x: x)) ]
