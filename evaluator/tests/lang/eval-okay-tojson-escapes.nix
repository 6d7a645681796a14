builtins.toJSON [ "quote\" backslash\\ nl\n tab\t" "\u0001" "é/ü" ]
