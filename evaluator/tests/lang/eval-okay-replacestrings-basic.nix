builtins.replaceStrings [ "o" ] [ "0" ] "foo boo"
