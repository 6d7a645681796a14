[ (builtins.match "[[:punct:]]+" "!?.,") (builtins.match "[[:xdigit:]]+" "deadBEEF") (builtins.match "[[:blank:]]" "\t") ]
