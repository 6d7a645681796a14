"${toString [ 1 true false null 2.5 ]}"
