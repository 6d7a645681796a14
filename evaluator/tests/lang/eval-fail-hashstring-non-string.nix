builtins.hashString "md5" 5
