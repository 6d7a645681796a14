builtins.addDrvOutputDependencies "no context here"
