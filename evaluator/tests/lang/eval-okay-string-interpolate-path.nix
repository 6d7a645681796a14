"${./lib/data.txt}"
