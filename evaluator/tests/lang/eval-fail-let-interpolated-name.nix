let
  a = 1;
  "b${toString a}" = 2;
in
b1
