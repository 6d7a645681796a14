let s = {
  a = 1;
    b = 2;
}; in [ (builtins.unsafeGetAttrPos "a" s) (builtins.unsafeGetAttrPos "b" s) (builtins.unsafeGetAttrPos "z" s) ]
