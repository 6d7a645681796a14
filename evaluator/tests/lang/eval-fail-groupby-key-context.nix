builtins.groupBy (x: "${builtins.toFile "b" "x"}") [ 1 ]
