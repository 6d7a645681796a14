[ (builtins.match "a.b" "a\nb") (builtins.match "(.*)\n(.*)" "one\ntwo") ]
