[ (builtins.all (x: x) [ false (throw "x") ]) (builtins.any (x: x) [ true (throw "y") ]) ]
