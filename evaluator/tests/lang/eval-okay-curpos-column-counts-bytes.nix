{ a = "é"; b = __curPos; }.b
