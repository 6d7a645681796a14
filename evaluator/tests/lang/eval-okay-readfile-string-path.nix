builtins.readFile (toString ./dir/a.txt)
