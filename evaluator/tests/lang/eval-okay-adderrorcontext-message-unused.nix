builtins.addErrorContext (throw "the message") 2
