builtins.elemAt [ ] 0
