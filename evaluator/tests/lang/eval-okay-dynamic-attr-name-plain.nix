let n = "a b"; in { ${n} = 1; ${"c"} = 2; }
