let d = derivation { name = "attrs"; builder = "/bin/sh"; system = "s"; extra = 1; }; in derivation (d.drvAttrs // { name = "copy"; })
