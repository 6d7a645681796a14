[ (toString { outPath = "/out"; }) (toString { __toString = self: "str"; }) ]
