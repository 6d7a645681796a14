[ (builtins.substring 1 (-1) "hello") (builtins.substring 0 (-5) "abc") ]
