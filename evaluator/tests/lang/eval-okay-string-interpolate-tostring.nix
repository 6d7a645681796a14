"<${{ __toString = self: "custom " + self.v; v = "value"; }}>"
