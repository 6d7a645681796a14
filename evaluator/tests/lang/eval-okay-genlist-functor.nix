builtins.genList { __functor = self: x: x * 3; } 4
