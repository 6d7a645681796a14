builtins.replaceStrings [ "é" "日" ] [ "e" "sun" ] "café 日"
