# Merging thousands of attribute sets with `//` and listToAttrs.
let
  sets = builtins.genList (i: { "k${toString (i - i / 500 * 500)}" = i; "u${toString i}" = i; shared = i; }) 16000;
  merged = builtins.foldl' (acc: s: acc // s) { } sets;
in
builtins.length (builtins.attrNames merged) + merged.shared
