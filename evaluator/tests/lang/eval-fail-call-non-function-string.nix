let s = "str"; in s 1
