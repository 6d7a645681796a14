builtins.isString { }.x
