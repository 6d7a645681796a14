builtins.deepSeq [ 1 2 (throw "third") ] 0
