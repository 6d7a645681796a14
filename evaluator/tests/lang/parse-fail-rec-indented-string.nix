rec ''a''
