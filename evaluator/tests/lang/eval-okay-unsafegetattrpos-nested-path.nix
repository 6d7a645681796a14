builtins.unsafeGetAttrPos "c" { a.b.c = 1; }.a.b
