builtins.length [ (throw "a") ]
