[ (builtins.builtins.add 1 2) (builtins ? builtins) (builtins.typeOf builtins) (builtins ? nosuchbuiltin) ]
