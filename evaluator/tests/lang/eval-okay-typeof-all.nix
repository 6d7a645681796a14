map builtins.typeOf [ 1 1.0 "s" true null [ ] { } (x: x) ./p builtins.add (builtins.add 1) ]
