if map x: x then 1 else 2
