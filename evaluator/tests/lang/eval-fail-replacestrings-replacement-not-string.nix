builtins.replaceStrings [ "a" "b" ] [ "x" 2 ] "cab"
