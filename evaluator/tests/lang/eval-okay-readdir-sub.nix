builtins.readDir ./dir/sub
