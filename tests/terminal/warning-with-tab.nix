builtins.warn "tab\there" 2
