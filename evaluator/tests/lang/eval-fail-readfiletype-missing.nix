builtins.readFileType ./no-such-thing
