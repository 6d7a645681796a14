builtins.fromTOML ''
  a.b.c = 1
  a.b.d = 2
  "quoted key" = 3
''
