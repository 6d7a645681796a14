builtins.appendContext "" { a-b = { }; }
