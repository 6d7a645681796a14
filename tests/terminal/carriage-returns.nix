let
  x = 1 + "a";
in x
