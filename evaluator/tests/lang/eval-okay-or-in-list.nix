let s = { }; in [ (s.a or 1) s.b or 2 ]
