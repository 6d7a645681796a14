builtins.genericClosure { startSet = [ ]; operator = x: throw "never"; }
