builtins.readDir { outPath = throw "no out path"; }
