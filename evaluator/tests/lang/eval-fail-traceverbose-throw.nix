builtins.traceVerbose "x" (throw "after traceVerbose")
