"a" + ./lib/no-such-file
