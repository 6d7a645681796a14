[ (builtins.match "[[:alpha:]]+" "Hello") (builtins.match "([[:digit:]]+)([[:space:]]*)" "42  ") (builtins.match "[[:upper:]][[:lower:]]*" "Word") (builtins.match "[[:alnum:]_]+" "a_1") ]
