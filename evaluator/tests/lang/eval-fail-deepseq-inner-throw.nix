builtins.deepSeq { a = [ 1 { b = throw "deep inside"; } ]; } 1
