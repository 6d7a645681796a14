map builtins.splitVersion [ "1.2.3" "1.0pre5" "2.3a" "" "1..2" "1-2_3" "abc" "10alpha20" ]
