# Attribute lookups with computed names in a large set.
let
  big = builtins.listToAttrs (builtins.genList (i: { name = "a${toString i}"; value = i; }) 50000);
  names = builtins.attrNames big;
in
builtins.foldl' (acc: name: acc + big.${name}) 0 (builtins.concatLists (builtins.genList (_: names) 90))
