builtins.filterSource true ./dir
