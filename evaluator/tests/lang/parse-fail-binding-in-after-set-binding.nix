{ a = 1; in
