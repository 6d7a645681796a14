[ (builtins.catAttrs "x" [ ]) (builtins.length (builtins.catAttrs "a" [ { a = throw "lazy"; } { b = 1; } ])) ]
