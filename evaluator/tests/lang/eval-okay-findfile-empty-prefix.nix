builtins.findFile [ { prefix = ""; path = toString ./lib; } ] "simple.nix"
