{ a = derivation { name = "s1"; builder = "/bin/sh"; system = "s"; }; b = derivation { name = "s2"; builder = "/bin/sh"; system = "s"; }; }
