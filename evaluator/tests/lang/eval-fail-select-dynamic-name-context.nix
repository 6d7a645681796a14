let s = builtins.toFile "b" "x"; in { a = 1; }."${s}"
