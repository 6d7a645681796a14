# Calls of the same function by foldl' and sort, some of which keep their arguments
# (in a lazy set, a function or a thunk) while others keep nothing.
let
  kept = builtins.foldl' (acc: x: if x == 2 || x == 5 then acc ++ [ { inherit x; twice = x * 2; } (y: x + y) ] else acc) [ ] [ 1 2 3 4 5 6 ];
  lazyAcc = builtins.foldl' (acc: x: { prev = acc; value = x; sum = (acc.sum or 0) + x; }) { } [ 1 2 3 ];
  remembered = builtins.foldl' (acc: x: acc ++ [ (_: x) ]) [ ] [ "a" "b" "c" ];
  comparisons = builtins.foldl' (acc: x: acc + x) 0 (builtins.genList (i: i) 100);
  seen = builtins.sort (a: b: (builtins.seq (builtins.length [ a b ]) a.k) < b.k) (map (k: { inherit k; }) [ 5 3 9 1 7 2 8 ]);
in
{
  kept = map (e: if builtins.isFunction e then e 10 else e) kept;
  lazyAcc = [ lazyAcc.value lazyAcc.prev.value lazyAcc.prev.prev.value lazyAcc.sum ];
  remembered = map (f: f null) remembered;
  inherit comparisons;
  seen = map (e: e.k) seen;
}
