[ (builtins.typeOf 7/2) (6 / 2) ]
