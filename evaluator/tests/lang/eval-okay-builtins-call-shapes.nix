# Functions of every shape handed to the builtins that call them: one and two
# parameters, formals, partial applications, builtins and functors.
let
  add = a: b: a + b;
  add3 = a: b: c: a + b + c;
  functor = { __functor = self: a: b: a * b; };
in
{
  foldlPlain = builtins.foldl' add 0 [ 1 2 3 ];
  foldlPartial = builtins.foldl' (add3 100) 0 [ 1 2 3 ];
  foldlFormals = builtins.foldl' ({ n }: x: { n = n + x; }) { n = 0; } [ 4 5 ];
  foldlFunctor = builtins.foldl' functor 1 [ 2 3 4 ];
  foldlBuiltin = builtins.foldl' builtins.add 0 [ 7 8 ];
  sortPlain = builtins.sort (a: b: a < b) [ 3 1 2 ];
  sortBuiltin = builtins.sort builtins.lessThan [ 9 8 7 ];
  sortFormals = builtins.sort ({ k, ... }: b: k < b.k) [ { k = 2; } { k = 1; } ];
  mapAttrsPlain = builtins.mapAttrs (name: value: "${name}=${toString value}") { a = 1; b = 2; };
  mapAttrsPartial = builtins.mapAttrs (add3 "x") { a = "y"; };
  filterPlain = builtins.filter (x: x > 1) [ 1 2 3 ];
  filterFormals = builtins.filter ({ on, ... }: on) [ { on = true; v = 1; } { on = false; } ];
  filterBuiltin = builtins.filter builtins.isInt [ 1 "a" 2 ];
  anyAll = [ (builtins.any (x: x == 2) [ 1 2 ]) (builtins.all (x: x > 0) [ 1 2 ]) ];
  concatMapped = builtins.concatMap (x: [ x x ]) [ 1 2 ];
  grouped = builtins.groupBy (x: if x > 1 then "big" else "small") [ 1 2 3 ];
  parted = builtins.partition (x: x > 1) [ 1 2 3 ];
  mapped = map (add 10) [ 1 2 ];
  generated = builtins.genList (i: i * i) 4;
  generatedFormals = builtins.genList ({ ... }@x: x) 0;
  zipped = builtins.zipAttrsWith (name: values: values) [ { a = 1; } { a = 2; } ];
}
