builtins.stringLength 12
