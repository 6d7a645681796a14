# `inherit (source) …` from sources already evaluated, from the same scope, from globals,
# of values not evaluated yet and of values that fail only when forced.
let
  outer = { a = 1; b = throw "b is not used"; c = { d = 2; }; };
  forced = builtins.seq outer.c outer;
in
rec {
  inherit (outer) a c;
  inherit (builtins) length;
  fromRec = let inherit (self) x; self = { x = 3; }; in x;
  fromLet = let inherit (outer.c) d; in d;
  counted = length [ 1 2 ];
  inner = { inherit (forced) a; inherit (forced.c) d; };
  notForced = builtins.tryEval (let inherit (forced) b; in b);
  kept = { inherit (forced) b; } ? b;
  sameValue = inner.a == a;
}
