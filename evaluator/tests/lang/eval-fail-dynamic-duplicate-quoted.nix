let a = "a b"; in { ${a} = 1; ${a} = 2; }
