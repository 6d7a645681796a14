let k = "z"; in { a = 1; }.${k} or "nothing"
