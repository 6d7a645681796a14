builtins.getAttr ("a" + "b") { ab = "found"; }
