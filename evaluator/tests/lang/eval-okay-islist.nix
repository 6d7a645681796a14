map builtins.isList [ [ ] [ [ ] ] { } "[]" ]
