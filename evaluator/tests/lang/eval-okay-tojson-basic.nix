builtins.toJSON { a = 1; b = [ true false null ]; c = "str"; d = 1.5; }
