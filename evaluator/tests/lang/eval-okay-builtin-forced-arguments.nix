# Arguments that a builtin forces first, computed at the call: results, laziness of the
# other arguments and of list elements, and failures caught by tryEval.
let
  f = x: { a = x; b = throw "b is not forced"; };
  twice = x: x * 2;
in
{
  isAttrs = builtins.isAttrs (f 1);
  isList = builtins.isList (f 1).a;
  typeOf = builtins.typeOf (twice 2);
  caughtIsAttrs = builtins.tryEval (builtins.isAttrs (throw "no"));
  context = builtins.addErrorContext "unused ${throw "never"}" (f 1).a;
  caughtContext = builtins.tryEval (builtins.addErrorContext "c" (throw "x"));
  mapped = map twice (builtins.genList (i: i + 1) 4);
  lazyElements = builtins.length (map (x: throw "not forced") (builtins.genList (i: i) 3));
  lazyFunction = map (throw "the function of an empty map") (builtins.filter (x: x > 5) [ 1 2 ]);
  names = builtins.attrNames (f 2);
  values = builtins.length (builtins.attrValues (f 3));
  seq = builtins.seq (f 2) "seq";
  hasA = builtins.hasAttr "a" (f 3);
  getA = builtins.getAttr "a" (f 4);
  removed = builtins.attrNames (builtins.removeAttrs (f 5) [ "b" ]);
  sorted = builtins.sort builtins.lessThan (map (x: 10 - x) [ 1 2 3 ]);
  caughtMap = builtins.tryEval (map (x: x) (throw "list"));
  string = builtins.toString (builtins.concatLists [ [ 1 ] [ 2 "a" ] ]);
  elem = builtins.elem 2 (map twice [ 1 2 ]);
  elemAt = builtins.elemAt (map twice [ 1 2 ]) (twice 0);
  mapAttrs = builtins.mapAttrs (n: v: n) (builtins.removeAttrs (f 6) [ "b" ]);
  all = builtins.all (x: x > 0) (map twice [ 1 2 ]);
  zipped = builtins.zipAttrsWith (n: vs: vs) (map (x: { inherit x; }) [ 1 2 ]);
  joined = builtins.concatStringsSep (builtins.toString 1) (map toString [ 2 3 ]);
  listed = builtins.listToAttrs (map (n: { name = n; value = n; }) [ "p" "q" ]);
}
