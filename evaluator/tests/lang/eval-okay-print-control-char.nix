builtins.fromJSON ''"a\u0007b\u001bc"''
