[ (builtins.pathExists ./dir) (builtins.pathExists ./dir/a.txt) (builtins.pathExists ./missing) (builtins.pathExists (toString ./dir/sub)) (builtins.pathExists ./dir/link) ]
