[ (builtins.compareVersions "2.3a" "2.3") (builtins.compareVersions "2.3a" "2.3b") (builtins.compareVersions "2.3" "2.3.1") (builtins.compareVersions "2.3.1" "2.3a") ]
