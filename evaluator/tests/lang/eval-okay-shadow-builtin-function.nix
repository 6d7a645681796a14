let map = f: xs: "shadowed"; in map (x: x) [ 1 ]
