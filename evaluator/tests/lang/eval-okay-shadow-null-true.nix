[ (let null = 1; in null) (let true = false; in true) (let builtins = { }; in builtins) ]
