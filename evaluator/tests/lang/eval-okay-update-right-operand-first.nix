# `//` evaluates its right operand first: the catchable throw wins over the abort.
builtins.tryEval ((abort "left") // (throw "right"))
