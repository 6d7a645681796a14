[ (builtins.match "[^a-c]+" "xyz") (builtins.match "[^a-c]+" "xaz") ]
