let k = "b"; in { a.${k}.c = 1; a.${k}.d = 2; }
