let ''a'' = 1; in 1
