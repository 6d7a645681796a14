builtins.genericClosure { startSet = [ { key = "a"; } ]; operator = item: { a = [ { key = "b"; } { key = "c"; } ]; b = [ { key = "a"; } ]; c = [ ]; }.${item.key}; }
