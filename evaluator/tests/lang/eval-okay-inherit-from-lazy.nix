let s = { a = 1; b = throw "b"; }; in { inherit (s) a b; }.a
