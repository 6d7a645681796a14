builtins.split "[[:space:]]+" " foo  bar\tbaz "
