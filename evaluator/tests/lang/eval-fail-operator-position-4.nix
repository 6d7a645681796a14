let zero = 0; in 10 / zero
