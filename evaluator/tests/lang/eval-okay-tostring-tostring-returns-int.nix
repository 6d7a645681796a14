toString { __toString = self: 1; }
