[ (baseNameOf ./lib/data.txt) (baseNameOf /a/b) (baseNameOf ./.) ]
