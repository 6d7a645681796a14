builtins.sort (a: a) [ 2 1 ]
