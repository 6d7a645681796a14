toString [ 1 { } ]
