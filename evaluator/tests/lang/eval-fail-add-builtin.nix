1 + builtins.add
