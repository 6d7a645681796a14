# Definitions of the same attribute that are both sets merge, recursively, whatever
# spelling made them (paths, set literals, `rec` sets, inherits, dynamic names).
let
  x = 10;
  a.b.c = 1;
  a = { b = { d = 2; }; e = 3; };
in
{
  fromLet = a;
  paths = { p.q.r = 1; p = { q = { s = 2; }; }; p.q.t = 3; };
  literals = { l = { m = { n = 1; }; }; l = { m = { o = 2; }; }; l = { m.p = 3; }; };
  # The set merged into keeps its `rec`; a second set's `rec` is dropped.
  recFirst = { r = rec { s = 1; t = s + 1; }; r = { u = s + 10; }; };
  recSecond = let s = 5; in { r.x = 1; r = rec { s = 1; t = s; }; };
  nestedRec = let p = 7; in { n.m.o = 1; n = { m = rec { p = 2; q = p; }; }; };
  inherits = { i = { inherit x; inherit ({ y = 20; }) y; }; i = { inherit ({ z = 30; }) z; }; i.w = 40; };
  dynamic = { d = { "${"k"}" = 1; }; d = { ${toString 2} = 2; }; d.j = 3; };
  functions = { f = { g = v: v + 1; }; f.h = 2; }.f.g 1;
}
