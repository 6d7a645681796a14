map (x: x.name) [ { name = "a"; } { } ]
