let f = x: "<${toString x}>"; in f (1 + "a")
