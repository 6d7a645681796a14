builtins.toXML [ "line\nbreak" "tab\there" "uni é" "'apos'" ]
