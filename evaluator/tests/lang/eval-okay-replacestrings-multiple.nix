builtins.replaceStrings [ "a" "b" ] [ "b" "a" ] "aabb"
