map builtins.parseDrvName [ "nix-2.34.0pre20240101_abc" "foo-bar-baz-0.1-rc1" ]
