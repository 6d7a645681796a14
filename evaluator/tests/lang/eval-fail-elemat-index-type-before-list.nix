builtins.elemAt (throw "the list") "0"
