let f = x: "<${toString x}>"; in f { a = 1; }
