''
  dollar ''$ quote ''' newline ''\n tab ''\t back ''\\ other ''\x
''
