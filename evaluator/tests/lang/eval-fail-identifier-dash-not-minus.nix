let a = 3; b = 1; in a-b
