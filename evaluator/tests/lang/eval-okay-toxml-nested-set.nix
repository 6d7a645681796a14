builtins.toXML { a = { b = [ 1 2 ]; }; c = "<&>\""; }
