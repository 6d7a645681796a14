builtins.zipAttrsWith (name: name) [ { a = 1; } ]
