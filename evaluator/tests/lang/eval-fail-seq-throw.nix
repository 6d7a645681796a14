builtins.seq (throw "seq forces") 1
