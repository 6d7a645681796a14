# A binding that is just the name of another binding of the same `rec` set or `let` shares
# its value cell when the reference fills the other first, in the order it first named
# them: then a list reached through both prints as «repeated» in strict output.
let
  earlier = rec { a1 = [ 1 ]; b1 = a1; };
  later = rec { b2 = a2; a2 = [ 1 ]; };
  seenBefore = { a3 = 1; b3 = 2; };
  namedEarlierInTheFile = rec { b3 = a3; a3 = [ 1 ]; };
  chain = let a4 = [ 1 ]; b4 = a4; c4 = b4; in { inherit a4 b4 c4; };
  brokenChain = let c5 = b5; a5 = [ 1 ]; b5 = a5; in { inherit a5 b5 c5; };
  builtinName = rec { map = [ 1 ]; zz = map; };
  builtinNameLater = rec { zy = [ 1 ]; filter = zy; };
  quoted = rec { "q" = [ 2 ]; r = q; };
  parameterAfterBody = let f = p: let o = [ p ]; p2 = o; in [ o p2 ]; in f 1;
  parameterNamedLater = let f = p6: let o6 = [ p6 ]; in rec { inherit o6; k6 = o6; }; in f 1;
  formalDefault = let g = { y ? [ 1 ] }: rec { y2 = y; z = y2; }; in g { };
  patternName = let h = { ... }@args: let m = [ args ]; args2 = m; in [ m args2 ]; in h { };
in
[ earlier later namedEarlierInTheFile chain brokenChain builtinName builtinNameLater quoted parameterAfterBody parameterNamedLater formalDefault patternName ]
