builtins.sort (a: b: a.key < b.key) [ { key = 2; } { } ]
