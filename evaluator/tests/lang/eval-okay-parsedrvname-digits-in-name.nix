map builtins.parseDrvName [ "python3.9-foo-1.0" "gtk+-3.24" "x-2a" ]
