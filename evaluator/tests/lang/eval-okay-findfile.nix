[ (builtins.findFile builtins.nixPath "lang/simple.nix") (builtins.findFile [ { prefix = "p"; path = toString ./dir; } ] "p/a.txt") ]
