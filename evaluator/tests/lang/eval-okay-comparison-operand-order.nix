# `<=` and `>` evaluate their right operand first (`a <= b` is `!(b < a)`, `a > b` is
# `b < a`), `<` and `>=` their left one: the catchable throw wins over the abort.
map builtins.tryEval [
  ((throw "left") < (abort "right"))
  ((abort "left") <= (throw "right"))
  ((abort "left") > (throw "right"))
  ((throw "left") >= (abort "right"))
]
