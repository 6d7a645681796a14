''
  foo
    bar
  baz
''
