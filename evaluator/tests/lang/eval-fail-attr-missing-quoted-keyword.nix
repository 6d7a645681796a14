builtins.getAttr "if" { }
