rec { a = b; b = a; c = 3; }.c
