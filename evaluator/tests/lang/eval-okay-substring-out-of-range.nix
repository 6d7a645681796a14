[ (builtins.substring 10 2 "abc") (builtins.substring 3 1 "abc") (builtins.substring 0 0 "abc") ]
