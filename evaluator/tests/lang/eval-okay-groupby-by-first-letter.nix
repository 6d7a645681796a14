builtins.groupBy (builtins.substring 0 1) [ "apple" "avocado" "banana" "cherry" "blueberry" ]
