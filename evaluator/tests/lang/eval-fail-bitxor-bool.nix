builtins.bitXor true 1
