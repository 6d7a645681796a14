builtins.trace "a\tb\tc" (builtins.trace "\t\t" 1)
