map (n: builtins.hasAttr n { x = 1; "y z" = 2; }) [ "x" "y z" "y" ]
