[ ("a" + { outPath = "/x"; }) ("b" + { __toString = s: "y"; }) ]
