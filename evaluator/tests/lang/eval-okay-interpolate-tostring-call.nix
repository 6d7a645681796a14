# `${toString x}` inside a string, for every kind of value toString takes, and where the
# name is not the builtin.
let
  d = derivation { name = "x"; system = "x86_64-linux"; builder = "/bin/sh"; };
  n = 7;
in
[
  "a${toString 5}b${toString (-42)}c${toString 9223372036854775807}"
  "${toString (-9223372036854775807 - 1)}|${toString 0}|${toString n}${toString (n * 3)}"
  "${toString null}${toString true}${toString false}"
  "${toString 1.5}"
  "${toString [ 1 2 "a" [ 3 null ] ]}"
  "${toString d}"
  (builtins.getContext "${toString d}x${toString 0}")
  "${toString { outPath = "o"; }}"
  "${toString { __toString = s: "ts"; }}"
  (with { toString = x: "shadow"; }; "${toString 1}")
  (let toString = x: "let"; in "${toString 1}")
  "${builtins.toString 7}"
  (builtins.stringLength "${toString 123456789}${toString 42}")
]
