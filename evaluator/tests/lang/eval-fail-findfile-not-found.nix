builtins.findFile builtins.nixPath "nosuch/file.nix"
