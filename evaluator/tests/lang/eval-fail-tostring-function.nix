toString (x: x)
