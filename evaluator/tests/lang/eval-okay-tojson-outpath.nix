builtins.toJSON [ { outPath = "/x"; other = 1; } { __toString = s: "ts"; } ]
