[ (builtins.pathExists (./dir + "/sub/c.txt")) (builtins.pathExists (./dir + "/sub/nope")) (builtins.pathExists /.) ]
