{ __functor = 1; } 1
