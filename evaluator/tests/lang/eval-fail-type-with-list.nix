with [ 1 ]; 1 + x
