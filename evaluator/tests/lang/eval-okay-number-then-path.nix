builtins.typeOf 2/3
