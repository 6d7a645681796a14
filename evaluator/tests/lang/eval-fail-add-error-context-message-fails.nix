# addErrorContext's value fails; its message is then coerced, and its own failure wins.
builtins.addErrorContext (throw "the message fails") (builtins.isAttrs (throw "the value fails"))
