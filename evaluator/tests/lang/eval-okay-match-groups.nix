builtins.match "([a-z]+)-([0-9]+)\\.([a-z]+)" "foo-123.tar"
