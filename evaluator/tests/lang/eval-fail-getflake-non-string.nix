builtins.getFlake 1
