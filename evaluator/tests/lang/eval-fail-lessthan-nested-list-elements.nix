builtins.lessThan [ [ 1 "a" ] ] [ [ 1 2 ] ]
