builtins.length (builtins.genList (x: x) 9223372036854775807)
