with { a = 1; }; b
