builtins.toFile "greeting.txt" "hello\n"
