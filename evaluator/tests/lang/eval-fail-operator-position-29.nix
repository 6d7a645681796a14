{ __toString = s: "x"; } + 1
