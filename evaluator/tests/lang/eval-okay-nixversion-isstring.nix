builtins.isString builtins.nixVersion && builtins.stringLength builtins.nixVersion > 0
