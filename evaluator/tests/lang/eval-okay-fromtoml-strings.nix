builtins.fromTOML ''
  basic = "tab\tnl\n"
  literal = 'C:\path'
  multi = """
  line1
  line2"""
''
