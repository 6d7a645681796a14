map builtins.stringLength [ "" "a" "hello world" "é" "\n" ]
