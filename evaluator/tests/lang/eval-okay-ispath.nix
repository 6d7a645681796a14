map builtins.isPath [ ./a /b "/c" (toString ./d) (./e + "/f") ]
