builtins.filterSource (p: t: true) ./dir/sub
