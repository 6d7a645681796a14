builtins.catAttrs "${builtins.toFile "b" "x"}" [ { } ]
