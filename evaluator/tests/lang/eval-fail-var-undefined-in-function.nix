x: x + y
