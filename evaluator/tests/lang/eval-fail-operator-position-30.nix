{ __toString = s: 1; } + "a"
