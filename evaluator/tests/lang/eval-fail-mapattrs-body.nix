(builtins.mapAttrs (name: value: value + name) { a = 1; }).a
