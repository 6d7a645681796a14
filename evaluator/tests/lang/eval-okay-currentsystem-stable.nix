builtins.currentSystem == builtins.currentSystem
