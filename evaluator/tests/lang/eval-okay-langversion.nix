[ builtins.langVersion (builtins.isInt builtins.langVersion) ]
