builtins.addErrorContext (throw "the message") (throw "the value")
