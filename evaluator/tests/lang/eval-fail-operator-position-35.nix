let f = _: 1; in { } // ((f 2))
