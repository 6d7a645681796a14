builtins.warn "a warning" { ok = true; }
