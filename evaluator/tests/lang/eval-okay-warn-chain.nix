builtins.warn "first" (builtins.warn "second" "value")
