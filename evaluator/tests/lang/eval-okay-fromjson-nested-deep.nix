builtins.fromJSON "[[[[[[1]]]]], {\"a\": {\"b\": {\"c\": [true]}}}]"
