builtins.traceVerbose "only with trace-verbose" "v"
