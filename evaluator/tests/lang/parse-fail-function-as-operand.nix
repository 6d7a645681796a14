# A function must be whole or in parentheses.
1 + x: x
