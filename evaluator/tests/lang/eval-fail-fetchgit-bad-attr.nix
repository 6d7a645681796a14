builtins.fetchGit { url = "/nonexistent-repo"; colour = "red"; }
