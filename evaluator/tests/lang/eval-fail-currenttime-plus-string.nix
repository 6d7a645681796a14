builtins.currentTime + "s"
