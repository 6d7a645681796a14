{ a = 1; }.b or x: x
