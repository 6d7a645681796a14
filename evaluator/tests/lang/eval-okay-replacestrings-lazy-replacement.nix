builtins.replaceStrings [ "x" "y" ] [ "X" (throw "unused") ] "xx"
