toString [ "a" [ [ { a = 1; } ] ] ]
