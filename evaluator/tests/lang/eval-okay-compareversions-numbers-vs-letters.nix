[ (builtins.compareVersions "1.a" "1.1") (builtins.compareVersions "1.1" "1.a") (builtins.compareVersions "1.pre" "1.a") (builtins.compareVersions "" "1") ]
