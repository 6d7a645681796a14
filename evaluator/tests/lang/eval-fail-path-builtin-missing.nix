builtins.path { path = ./no-such-path; }
