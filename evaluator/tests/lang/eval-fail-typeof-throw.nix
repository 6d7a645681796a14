builtins.typeOf (abort "typeof forces")
