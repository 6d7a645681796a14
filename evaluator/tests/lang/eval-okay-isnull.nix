map builtins.isNull [ null { } [ ] "" 0 ]
