toString { __toString = self: ./lib; }
