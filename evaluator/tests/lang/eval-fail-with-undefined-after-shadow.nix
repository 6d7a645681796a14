let x = 1; in with { y = 2; }; x + y + z
