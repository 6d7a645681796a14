[ (builtins.break { a = 1; }).a (builtins.break 2 + 1) ]
