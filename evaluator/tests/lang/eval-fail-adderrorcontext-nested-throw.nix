builtins.addErrorContext "outer context" (builtins.addErrorContext "inner context" ({ }.missing))
