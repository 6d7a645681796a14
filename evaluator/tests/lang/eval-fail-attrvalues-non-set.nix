builtins.attrValues null
