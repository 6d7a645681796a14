[ (builtins.compareVersions "1.01" "1.1") (builtins.compareVersions "1.001" "1.2") ]
