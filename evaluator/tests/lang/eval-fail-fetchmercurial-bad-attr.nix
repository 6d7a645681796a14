builtins.fetchMercurial { url = "/nonexistent"; colour = "red"; }
