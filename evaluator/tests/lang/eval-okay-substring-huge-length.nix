builtins.substring 2 9223372036854775807 "abcdef"
