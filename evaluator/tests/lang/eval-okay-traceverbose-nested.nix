builtins.traceVerbose "outer" (builtins.traceVerbose "inner" [ 1 ])
