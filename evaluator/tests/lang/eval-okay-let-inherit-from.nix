let s = { a = 1; b = 2; }; inherit (s) a b; in a * 10 + b
