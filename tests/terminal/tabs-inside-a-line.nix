let
  x = 1;
  a = 1;
  ab = 1;
in
a		x + "a"
