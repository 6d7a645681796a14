builtins.isNull (throw "isNull forces its argument")
