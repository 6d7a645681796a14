# Elements that are the argument, a constant, or integer arithmetic on those and on
# variables of enclosing scopes (the shape of nixpkgs' lib.range).
let
  range = first: last: builtins.genList (n: first + n) (last - first + 1);
  unused = throw "never forced";
  big = 9223372036854775807;
in
{
  identity = builtins.genList (i: i) 4;
  constant = builtins.genList (i: 7) 3;
  range = range 3 7;
  squares = builtins.genList (i: i * i) 5;
  below = builtins.genList (i: i < 2) 4;
  differences = builtins.genList (i: 10 - i) 3;
  # The operand is not evaluated: the elements stay lazy and the list's length is known.
  lazyOperand = builtins.length (builtins.genList (i: unused + i) 3);
  # An element that would overflow is an error only when forced.
  overflowUnforced = builtins.length (builtins.genList (i: big + i) 2);
  overflowFirst = builtins.head (builtins.genList (i: big + i) 2);
  inFold = builtins.foldl' (acc: x: acc + x) 0 (builtins.genList (x: x) 1000);
}
