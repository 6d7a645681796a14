[ (builtins.attrValues { }) (builtins.attrValues { z = [ 1 ]; a = { b = 2; }; }) ]
