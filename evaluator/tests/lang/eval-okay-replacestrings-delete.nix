builtins.replaceStrings [ " " "-" ] [ "" "" ] "a b-c d"
