let a = 1; in { inherit "a"; }
