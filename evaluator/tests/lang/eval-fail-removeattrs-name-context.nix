builtins.removeAttrs { } [ "${builtins.toFile "b" "x"}" ]
