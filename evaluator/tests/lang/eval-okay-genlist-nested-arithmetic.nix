# Nested integer arithmetic in genList's function and in function arguments: the same
# values, and the same laziness, as when each element and argument is a thunk.
let
  k = 7;
  f = a: b: [ a b ];
  zero = 0;
in
{
  residues = builtins.genList (i: (i * 7919 + 104729) - (i * 7919 + 104729) / 101 * 101) 6;
  negative = builtins.genList (i: (i - 5) / 2) 6;
  compared = builtins.genList (i: i * k < 10) 3;
  # Division by zero and overflow are errors only when forced.
  byZero = builtins.length (builtins.genList (i: 1 / (i - i)) 3);
  argByZero = builtins.length (f (1 / zero) (k * 2 + 1));
  args = f (k * 2 + 1) ((k - 10) / 2);
  overflow = builtins.length (builtins.genList (i: (9223372036854775807 - i) * 2) 2);
  deep = builtins.genList (i: ((((((((i + 1) + 1) + 1) + 1) + 1) + 1) + 1) + 1) + 1) 2;
}
