builtins.map { __functor = self: x: x + self.inc; inc = 100; } [ 1 2 ]
