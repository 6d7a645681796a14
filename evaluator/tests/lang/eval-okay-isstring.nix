map builtins.isString [ "" ''ind'' ./p (toString ./p) http://x.y null ]
