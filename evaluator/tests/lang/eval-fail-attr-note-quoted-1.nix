{ "a b" = throw "x"; }
