toString [ [ ] [ [ ] ] "a" [ "b" [ "c" ] ] null true ]
