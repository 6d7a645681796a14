# `substring` giving the whole string, a part, or nothing, with and without context.
let
  d = derivation { name = "x"; system = "x86_64-linux"; builder = "/bin/sh"; };
  s = "${d}/bin";
  ctx = x: builtins.attrNames (builtins.getContext x);
in
[
  (builtins.substring 0 3 "abc")
  (builtins.substring 0 10 "abc")
  (builtins.substring 0 (-1) "abc")
  (builtins.substring 1 (-1) "abc")
  (builtins.substring 3 1 "abc")
  (builtins.substring 5 1 "abc")
  (builtins.substring 0 0 "abc")
  (builtins.substring 0 1 "")
  (builtins.substring 1 2 "héllo")
  (builtins.substring 0 100 s)
  (ctx (builtins.substring 0 100 s))
  (ctx (builtins.substring 0 (-1) s))
  (ctx (builtins.substring 11 5 s))
  (ctx (builtins.substring 500 5 s))
  (builtins.substring 500 5 s)
  (builtins.substring 0 3 (toString 12345))
  (builtins.substring 0 5 ./.)
]
