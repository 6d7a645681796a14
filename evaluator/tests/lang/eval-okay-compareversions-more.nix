map (p: builtins.compareVersions (builtins.elemAt p 0) (builtins.elemAt p 1)) [ [ "1.0" "1.0.0" ] [ "1.0a" "1.0b" ] [ "1.0" "1.0-" ] [ "0.9" "0.10" ] [ "1.2.3" "1.2.3" ] [ "a" "b" ] [ "pre" "1" ] ]
