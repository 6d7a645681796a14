{ foobar = 1; foobaz = 2; }.fooba
