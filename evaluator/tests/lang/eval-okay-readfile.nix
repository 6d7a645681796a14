[ (builtins.readFile ./lib/data.txt) (builtins.readFile ./dir/link) (builtins.readFile ./dir/sub/c.txt) ]
