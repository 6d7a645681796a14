let s = "${builtins.toFile "f" "x"}"; in s == builtins.unsafeDiscardStringContext s
