assert true ' 1
