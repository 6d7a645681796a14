[ (builtins.seq 1 2) (builtins.seq { a = throw "x"; } "shallow") (builtins.seq [ (throw "y") ] 3) ]
