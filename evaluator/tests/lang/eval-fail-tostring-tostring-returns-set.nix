toString { __toString = self: { }; }
