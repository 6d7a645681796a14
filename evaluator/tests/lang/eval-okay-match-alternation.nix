map (s: builtins.match "(foo|bar)baz" s) [ "foobaz" "barbaz" "bazbaz" ]
