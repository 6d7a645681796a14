[ (builtins.match "abc" "abc") (builtins.match "a(b)c" "abc") (builtins.match "abc" "xabc") ]
