builtins.toXML [ 1 "s" true null 1.5 ./p ]
