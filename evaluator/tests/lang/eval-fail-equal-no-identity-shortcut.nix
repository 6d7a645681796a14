let x = [ (throw "x") ]; in [ (x == x) ([ 1 2 ] == [ 1 ]) ]
