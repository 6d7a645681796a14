builtins.mapAttrs (name: name) { a = 1; }
