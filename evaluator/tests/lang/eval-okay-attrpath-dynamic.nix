let k = "foo"; in { ${k}.bar = 1; "${k}-x" = 2; ${"lit"} = 3; }
