[ "tab\there" "nl\nx" "cr\r" "bs\\" "q\"" "d\$" "unknown\x\q" ]
