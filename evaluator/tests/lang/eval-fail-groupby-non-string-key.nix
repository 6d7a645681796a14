builtins.groupBy (x: x) [ 1 2 ]
