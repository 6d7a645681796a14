builtins.nixPath == __nixPath
