builtins.listToAttrs [ { name = "a"; value = "first"; } { name = "b"; value = 1; } { name = "a"; value = "second"; } ]
