rec { a = 1; b = a + 100; }.b
