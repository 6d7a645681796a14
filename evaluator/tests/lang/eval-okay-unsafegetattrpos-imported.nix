builtins.unsafeGetAttrPos "inner" (import ./lib/pos.nix).second
