[ (derivation { name = "l1"; builder = "/bin/sh"; system = "s"; }) (derivation { name = "l2"; builder = "/bin/sh"; system = "s"; }) ]
