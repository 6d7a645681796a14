let x = 1; y = "s"; in x // y
