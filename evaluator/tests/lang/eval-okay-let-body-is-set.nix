let a = 1; in { inherit a; b = a + 1; }
