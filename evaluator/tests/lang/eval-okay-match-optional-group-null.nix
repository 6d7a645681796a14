[ (builtins.match "(a)?(b)" "b") (builtins.match "(a)?(b)" "ab") (builtins.match "(x)|(y)" "y") ]
