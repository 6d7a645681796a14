builtins.scopedImport (throw "the scope") (throw "the path")
