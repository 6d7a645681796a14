map builtins.readFileType [ ./dir ./dir/a.txt ./dir/link ./dir/sub ]
