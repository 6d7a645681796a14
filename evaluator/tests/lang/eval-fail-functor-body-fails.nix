let
  counter = {
    step = 2;
    __functor = self: n: n + self.step + "x";
  };
in
map counter [ 1 ]
