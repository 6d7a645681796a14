map toString [ 1 (-5) 1.5 0.1 "s" true false null ./lib/data.txt /abs/path [ 1 [ 2 3 ] ] [ ] [ null ] ]
