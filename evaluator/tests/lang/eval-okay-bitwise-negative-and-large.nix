[ (builtins.bitAnd (-8) 7) (builtins.bitOr (-8) 7) (builtins.bitXor 9223372036854775807 (-1)) (builtins.bitAnd 9223372036854775807 255) ]
