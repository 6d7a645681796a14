{ __functor = self: x: self.n + x; n = 10; } 5
