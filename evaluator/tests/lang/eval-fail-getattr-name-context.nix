builtins.getAttr "${builtins.toFile "b" "x"}" { }
