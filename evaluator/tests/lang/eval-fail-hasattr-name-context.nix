builtins.hasAttr "${builtins.toFile "b" "x"}" { }
