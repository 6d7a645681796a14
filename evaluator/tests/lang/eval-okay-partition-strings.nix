builtins.partition (s: builtins.stringLength s > 3) [ "a" "long" "bb" "longer" ]
