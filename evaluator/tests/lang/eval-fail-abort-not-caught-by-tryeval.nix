builtins.tryEval (abort "abort escapes tryEval")
