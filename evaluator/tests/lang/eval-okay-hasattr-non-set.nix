[ ({ a = 1; } ? a.b) (1 ? a) ("s" ? x) (null ? a) ]
