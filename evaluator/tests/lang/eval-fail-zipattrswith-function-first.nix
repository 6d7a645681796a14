builtins.zipAttrsWith 1 (throw "the list")
