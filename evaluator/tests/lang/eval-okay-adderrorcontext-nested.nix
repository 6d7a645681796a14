builtins.addErrorContext "a" (builtins.addErrorContext "b" { x = 1; })
