builtins.sub 1 null
