builtins.fetchMercurial [ ]
