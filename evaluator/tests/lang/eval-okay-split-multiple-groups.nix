builtins.split "([a-z])([0-9])" "_a1_b2_"
