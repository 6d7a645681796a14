# Sorting 100,000 pseudo-random integers with a user comparator.
let
  xs = builtins.genList (i: (i * 7919 + 104729) - (i * 7919 + 104729) / 100003 * 100003) 300000;
  sorted = builtins.sort (a: b: a < b) xs;
in
[ (builtins.head sorted) (builtins.elemAt sorted 150000) (builtins.length sorted) ]
