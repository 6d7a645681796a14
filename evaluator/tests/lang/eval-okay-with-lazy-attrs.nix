with { a = throw "lazy"; b = 3; }; b
