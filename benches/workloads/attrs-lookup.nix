# Attribute lookups in a large set and rec/let heavy code.
let
  big = builtins.listToAttrs (builtins.genList (i: { name = "a${toString i}"; value = i; }) 50000);
  names = builtins.attrNames big;
in
builtins.foldl' (acc: name: acc + big.${name}) 0 (names ++ names ++ names ++ names ++ names ++ names ++ names ++ names)
