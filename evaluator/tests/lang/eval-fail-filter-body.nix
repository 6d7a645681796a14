builtins.filter (x: x.enable) [ { enable = true; } { } ]
