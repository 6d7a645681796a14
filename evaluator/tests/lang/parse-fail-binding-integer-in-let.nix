let a = 1; 2 = 3; in 1
