let
	x = 1;
	y = x + "a";
in
	y
