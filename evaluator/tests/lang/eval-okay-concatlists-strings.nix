builtins.concatLists (map (s: [ s (s + s) ]) [ "a" "b" ])
