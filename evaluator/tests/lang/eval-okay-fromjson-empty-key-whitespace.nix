builtins.fromJSON "  { \"\" : [ ] , \"a b\" : { \"c\" : -1.5e1 } }  "
