"${./lib/no-such-file}"
