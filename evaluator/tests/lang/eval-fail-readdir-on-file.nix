builtins.readDir ./dir/a.txt
