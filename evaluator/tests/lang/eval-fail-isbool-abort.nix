builtins.isBool (abort "isBool forces its argument")
