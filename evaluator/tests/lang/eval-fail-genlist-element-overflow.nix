# The second element overflows when it is forced.
builtins.genList (i: 9223372036854775807 + i) 2
