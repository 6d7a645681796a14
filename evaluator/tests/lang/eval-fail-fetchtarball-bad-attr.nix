builtins.fetchTarball { url = "file:///nonexistent.tar.gz"; colour = "red"; }
