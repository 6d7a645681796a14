"prefix:" + ./lib/data.txt
