builtins.split "a" "aaa"
