assert [ 1 { a.b = 2; a.c = "x"; } ] == [ 1 { a = { b = 2; c = "y"; }; } ];
null
