[ (builtins.match "" "") (builtins.match "" "a") (builtins.match "()" "") ]
