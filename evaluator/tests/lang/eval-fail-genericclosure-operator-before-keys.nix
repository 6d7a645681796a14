builtins.genericClosure { startSet = [ { key = throw "the key"; } ]; operator = throw "the operator"; }
