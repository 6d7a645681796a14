map (x: x.v) (builtins.genericClosure { startSet = [ { key = 1; v = "one"; } ]; operator = i: if i.key == 1 then [ { key = 2; v = "two"; } { key = 1; v = "again"; } ] else [ ]; })
