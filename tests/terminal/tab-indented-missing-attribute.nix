let
	# a comment
	f = x: x.missing;
in
	f { a = 1; }
