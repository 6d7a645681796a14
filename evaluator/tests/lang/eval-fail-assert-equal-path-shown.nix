assert { p = ./lib/../data; } == { p = ./lib; };
null
