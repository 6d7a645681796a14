builtins.trace "traced first" (throw "then thrown")
