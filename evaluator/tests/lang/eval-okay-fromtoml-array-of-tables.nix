builtins.fromTOML ''
  [[fruit]]
  name = "apple"

  [[fruit]]
  name = "banana"
''
