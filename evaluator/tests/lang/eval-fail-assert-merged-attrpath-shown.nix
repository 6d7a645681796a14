let x = "k"; in
assert { a.b = 1; a = { c = 2; }; ${x}.d = 3; inherit x; } == { };
null
