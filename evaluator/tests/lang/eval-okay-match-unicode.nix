[ (builtins.match "h(.*)o" "héllo") (builtins.match "(日)(.)" "日本") ]
