builtins.addErrorContext 1 (throw "the value")
