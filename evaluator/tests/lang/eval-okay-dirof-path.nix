[ (dirOf ./lib/data.txt) (dirOf /a/b) (dirOf /a) (dirOf /.) ]
