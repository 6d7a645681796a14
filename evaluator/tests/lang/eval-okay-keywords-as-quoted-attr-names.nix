let s = { "if" = 1; "let" = 2; "inherit" = 3; }; in [ s."if" s."let" (s ? "inherit") ]
