let x = ''
    inner
  ''; in ''
  outer ${x} end
''
